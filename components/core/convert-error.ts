/** Why a conversion failed: the core could not be loaded, or ffmpeg refused the file. */
export class ConvertError extends Error {
  constructor(
    readonly code: 'load-failed' | 'convert-failed',
    message: string,
  ) {
    super(message);
    this.name = 'ConvertError';
  }
}
