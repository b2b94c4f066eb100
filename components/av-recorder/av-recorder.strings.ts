/** Every user-visible string of `<av-recorder>`, in one place so a page can translate it (`el.strings = {...}`). */
export const avRecorderStrings = {
  toolbar: 'Recording',
  start: 'Record',
  stop: 'Stop',
  pause: 'Pause',
  resume: 'Resume',
  snapshot: 'Snapshot',
  elapsed: 'Recorded time',
  state: {
    idle: 'Not recording',
    recording: 'Recording',
    paused: 'Paused',
    converting: 'Converting…',
    done: 'Recording ready',
    error: 'Recording failed',
  },
  loading: 'Loading the converter…',
  progress: 'Conversion progress',
  download: (kind: string, size: string) => `Save recording (${kind}, ${size})`,
  downloadSnapshot: (width: number, height: number) => `Save snapshot (${width}×${height})`,
  original: 'The conversion failed; the original recording is offered instead.',
  noRoom: 'This recorder is not connected to a room.',
  soundless: 'Recording without sound: this browser cannot mix the voices here (no audio output device, or no click on the page yet).',
};

export type AvRecorderStrings = typeof avRecorderStrings;
