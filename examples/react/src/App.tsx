// React 19 passes props to custom elements as properties and `on<event-name>` props as listeners; the types of both
// come from 'av-elements/jsx' (generated from custom-elements.json).
import 'av-elements';
import type {} from 'av-elements/jsx';
import { useState } from 'react';

export function App({ server, room }: { server: string; room: string }) {
  const [peerId, setPeerId] = useState('');
  const [members, setMembers] = useState<string[]>([]);
  return (
    <main>
      <h1>av-elements in React</h1>
      <p role="status">{peerId ? `In ${room} as ${peerId}; ${members.length} other member(s)` : `Joining ${room}…`}</p>
      <av-room
        id="room"
        server={server}
        room={room}
        name="React"
        onav-room-join={(e) => setPeerId(e.detail.peerId)}
        onav-peer-join={(e) => setMembers((m) => [...m, e.detail.name])}
        onav-peer-leave={(e) => setMembers((m) => m.filter((name) => name !== e.detail.name))}
      />
      <av-chat for="room" />
    </main>
  );
}
