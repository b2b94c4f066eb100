// What Volar / vue-tsc check in templates, in plain TypeScript: the props and handlers 'av-room' accepts.
import type {} from 'av-elements/vue';
import type { GlobalComponents } from 'vue';

type RoomProps = InstanceType<GlobalComponents['av-room']>['$props'];
export const props: RoomProps = { room: 'vue-demo', name: 'Vue', onAvRoomJoin: (e) => void e.detail.peerId };
