import { WebSocket } from 'ws';

export interface RoomClient {
  ws: WebSocket;
  /** The next message (of `type`), waiting at most `timeoutMs`. */
  next(type?: string, timeoutMs?: number): Promise<any>;
  send(data: unknown): void;
  close(): void;
}

/** A raw room-service WebSocket client, as an untrusted program would use it. */
export async function roomClient(serverUrl: string, room: string): Promise<RoomClient> {
  const ws = new WebSocket(`${serverUrl.replace('http', 'ws')}/r/${encodeURIComponent(room)}/ws`);
  const inbox: any[] = [];
  const waiters: (() => void)[] = [];
  ws.on('message', (m) => {
    try {
      inbox.push(JSON.parse((m as Buffer).toString()));
    } catch {
      inbox.push({ type: '(not json)', raw: (m as Buffer).toString() });
    }
    waiters.splice(0).forEach((w) => w());
  });
  ws.on('error', () => {});
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return {
    ws,
    async next(type, timeoutMs = 3000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const i = inbox.findIndex((m) => !type || m.type === type);
        if (i >= 0) return inbox.splice(i, 1)[0];
        const left = end - Date.now();
        if (left <= 0)
          throw new Error(`no "${type ?? 'any'}" message within ${timeoutMs} ms; inbox: ${JSON.stringify(inbox).slice(0, 500)}`);
        await new Promise<void>((r) => {
          const t = setTimeout(r, left);
          waiters.push(() => {
            clearTimeout(t);
            r();
          });
        });
      }
    },
    send(data) {
      if (ws.readyState !== WebSocket.OPEN) return;
      ws.send(typeof data === 'string' || Buffer.isBuffer(data) ? data : JSON.stringify(data));
    },
    close() {
      ws.close();
    },
  };
}
