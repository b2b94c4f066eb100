/** av-elements: the public face. Elements register themselves when this module loads. */
export { AvRoom, type SnapshotDetail, type PinChangeDetail } from './av-room/av-room.js';
export { onOffConverter } from './shared/attributes.js';
export { registerTranslation, type Translation } from './shared/i18n.js';
export { snapshotJpeg, type Snapshot } from './core/snapshot.js';
export { avRoomStrings, type AvRoomStrings } from './av-room/av-room.strings.js';
export type {
  RoomJoinDetail,
  RoomLeaveDetail,
  PeerDetail,
  RoomErrorDetail,
  PathDetail,
  MessageDetail,
  MuteRequestDetail,
  WarningDetail,
  DevicesDetail,
  ActiveSpeakerDetail,
  SpeakingDetail,
  QualityDetail,
} from './av-room/room-controller.js';
export { RoomSession, connect, type RoomSessionOptions, type SessionEvents, type SessionState, type SendOptions } from './core/session.js';
export type { RemotePeer, DataPath } from './core/peer-link.js';
export { SessionError, type SessionErrorCode } from './core/errors.js';
export type { LogLevel } from './core/log.js';
export { listDevices, type DeviceList, type DeviceKind, type DevicePreferences } from './core/devices.js';
export {
  RESOLUTIONS,
  VIDEO_CODECS,
  AUDIO_CODECS,
  type MediaSettings,
  type VideoSettings,
  type AudioSettings,
  type VideoCodec,
  type AudioCodec,
} from './core/media-settings.js';
export type { Quality, QualitySample } from './core/activity.js';
export type { MediaState, Role, Route } from './core/room-protocol.js';
export { AvChat, type ChatSendDetail, type ChatMessageDetail } from './av-chat/av-chat.js';
export { avChatStrings, type AvChatStrings } from './av-chat/av-chat.strings.js';
export { ChatChannel, type ChatMessage, type ChatOptions } from './core/chat.js';
export { AvFile, type FileTransferDetail, type FileReceivedDetail } from './av-file/av-file.js';
export { avFileStrings, type AvFileStrings } from './av-file/av-file.strings.js';
export { FileTransfers, type Transfer, type TransferState, type FileTransferOptions } from './core/file-transfer.js';
export { safeFileName } from './core/file-name.js';
export {
  AvRecorder,
  type RecorderState,
  type RecorderCompleteDetail,
  type RecorderStartDetail,
  type RecorderProgressDetail,
  type RecorderErrorDetail,
  type RecorderSnapshotDetail,
} from './av-recorder/av-recorder.js';
export { avRecorderStrings, type AvRecorderStrings } from './av-recorder/av-recorder.strings.js';
export type { RecordingResult } from './core/recorder.js';
