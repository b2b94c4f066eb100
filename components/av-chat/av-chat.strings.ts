/** Every user-visible string of `<av-chat>`, in one place so a page can translate it (`el.strings = {...}`). */
export const avChatStrings = {
  messages: 'Chat messages',
  input: 'Message',
  placeholder: 'Write a message…',
  /** How the keys work, read by screen readers with the input. */
  keys: 'Enter sends, Shift+Enter starts a new line.',
  send: 'Send',
  recipient: 'Send to',
  everyone: 'Everyone',
  privateTo: (name: string) => `private to ${name}`,
  privateFrom: 'private',
  you: 'You',
  sending: 'sending…',
  delivered: 'delivered',
  sent: 'sent',
  former: '(left)',
  unverified: 'shared · not verified',
  unverifiedTitle: (sharer: string) => `${sharer} shared this from the chat history; who wrote it cannot be verified.`,
  earlier: (n: number) => `Show earlier messages (${n})`,
  empty: 'No messages yet.',
  connecting: 'Connecting to the chat…',
  noRoom: 'This chat is not connected to a room.',
  error: 'The chat is not connected.',
  unread: (n: number) => `${n} new ${n === 1 ? 'message' : 'messages'} ↓`,
  tooLong: (max: number) => `Messages can be at most ${max} characters.`,
  notSent: 'The message was not sent.',
};

export type AvChatStrings = typeof avChatStrings;
