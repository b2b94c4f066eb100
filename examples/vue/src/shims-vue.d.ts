// .vue files to plain tsc (vue-tsc checks their insides).
declare module '*.vue' {
  import type { DefineComponent } from 'vue';
  const component: DefineComponent<{ server: string; room: string }>;
  export default component;
}
