import { formatBytes } from '../core/format.js';

/** Every user-visible string of `<av-file>`, in one place so a page can translate it (`el.strings = {...}`). */
export const avFileStrings = {
  choose: 'Send files…',
  drop: 'or drop files here',
  recipient: 'Send to',
  everyone: 'Everyone',
  transfers: 'File transfers',
  to: (name: string) => `to ${name}`,
  from: (name: string) => `from ${name}`,
  accept: 'Accept',
  decline: 'Decline',
  cancel: 'Cancel',
  download: 'Save',
  progress: (bytes: number, size: number, speed: number, eta: number) =>
    `${formatBytes(bytes)} of ${formatBytes(size)} · ${formatBytes(Math.round(speed))}/s · ${eta > 0 ? `${Math.ceil(eta)} s left` : ''}`,
  state: {
    offered: 'wants to send you a file',
    waiting: 'waiting for the receiver…',
    active: 'transferring',
    paused: 'connection lost, will resume…',
    verifying: 'checking…',
    done: 'done',
    declined: 'declined',
    cancelled: 'cancelled',
    error: 'failed',
  },
  nobody: 'Nobody else is in the room yet.',
  notConnected: 'Not connected to a room.',
  tooLarge: (name: string, max: number) => `${name} is larger than the ${formatBytes(max)} limit.`,
};

export type AvFileStrings = typeof avFileStrings;
