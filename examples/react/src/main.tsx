import { createRoot } from 'react-dom/client';
import { App } from './App';

// The av-server and room: from the page's query (?server=…&room=…), else this origin and "react-demo".
const query = new URLSearchParams(location.search);
createRoot(document.getElementById('root')!).render(
  <App server={query.get('server') ?? location.origin} room={query.get('room') ?? 'react-demo'} />,
);
