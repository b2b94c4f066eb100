/** Every user-visible string of `<av-room>`, in one place so a page can translate it (`el.strings = {...}`). */
export const avRoomStrings = {
  you: (name: string) => `${name} (you)`,
  mute: 'Mute microphone',
  unmute: 'Unmute microphone',
  cameraOff: 'Turn camera off',
  cameraOn: 'Turn camera on',
  leave: 'Leave',
  rejoin: 'Join again',
  controls: 'Call controls',
  participants: 'Participants',
  micMuted: 'microphone muted',
  cameraIsOff: 'camera off',
  enableSound: 'Click to enable sound',
  state: {
    idle: 'Not connected',
    connecting: 'Connecting…',
    connected: 'Connected',
    reconnecting: 'Signalling offline: calls continue, reconnecting…',
    closed: 'You left the room',
    error: 'Could not connect',
  },
  /** Why the call ended, where it is worth saying. */
  ended: { kicked: 'You were removed from the room', 'room-closed': 'The room was closed' } as Partial<Record<string, string>>,
  mutedBy: (by: string) => `Muted by ${by}`,
  alone: 'Waiting for others to join…',
  waitingForPresenter: 'Waiting for the presenter…',
};

export type AvRoomStrings = typeof avRoomStrings;
