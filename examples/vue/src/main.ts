import { createApp } from 'vue';
import App from './App.vue';

// The av-server and room: from the page's query (?server=…&room=…), else this origin and "vue-demo".
const query = new URLSearchParams(location.search);
createApp(App, { server: query.get('server') ?? location.origin, room: query.get('room') ?? 'vue-demo' }).mount('#app');
