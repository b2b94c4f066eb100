import { load, save } from './store.js';

/** The three kinds of device a member chooses. */
export type DeviceKind = 'audioinput' | 'videoinput' | 'audiooutput';

export interface DeviceList {
  microphones: MediaDeviceInfo[];
  cameras: MediaDeviceInfo[];
  speakers: MediaDeviceInfo[];
}

/** A remembered choice: the id (stable per origin) and the label, to find the device again if its id changed. */
export interface DeviceChoice {
  deviceId: string;
  label: string;
}

export type DevicePreferences = Partial<Record<DeviceKind, DeviceChoice>>;

const PREFERENCES_KEY = 'devices';

/** Cameras, microphones and speakers the browser lists (labels are empty until a capture permission was given). */
export async function listDevices(): Promise<DeviceList> {
  const all = (await navigator.mediaDevices?.enumerateDevices?.()) ?? [];
  return {
    microphones: all.filter((d) => d.kind === 'audioinput'),
    cameras: all.filter((d) => d.kind === 'videoinput'),
    speakers: all.filter((d) => d.kind === 'audiooutput'),
  };
}

function devicesOf(list: DeviceList, kind: DeviceKind): MediaDeviceInfo[] {
  return kind === 'audioinput' ? list.microphones : kind === 'videoinput' ? list.cameras : list.speakers;
}

/** The last choices on this origin (IndexedDB through idb-keyval). */
async function loadDevicePreferences(): Promise<DevicePreferences> {
  return (await load<DevicePreferences>(PREFERENCES_KEY)) ?? {};
}

/** Remembers one choice for the next visit; the other kinds are kept. */
export async function saveDevicePreference(kind: DeviceKind, choice: DeviceChoice): Promise<void> {
  const prefs = await loadDevicePreferences();
  prefs[kind] = { deviceId: choice.deviceId, label: choice.label };
  await save(PREFERENCES_KEY, prefs);
}

/**
 * The device to use for a remembered choice, when it is present now: by id, else by label (ids can change when
 * the site's data is cleared or the device moves to another port). Undefined: use the browser's default.
 */
export function resolveDevice(list: DeviceList, kind: DeviceKind, choice: DeviceChoice | undefined): MediaDeviceInfo | undefined {
  if (!choice) return undefined;
  const devices = devicesOf(list, kind);
  return devices.find((d) => d.deviceId === choice.deviceId) ?? (choice.label ? devices.find((d) => d.label === choice.label) : undefined);
}

/**
 * The remembered devices to use now: each one present (by id, or by label if its id changed). Before the page has a
 * capture permission the list has no ids: a remembered microphone or camera id is then tried as it is (the capture
 * falls back to the default when it is gone); a speaker only when listed.
 */
export async function rememberedDevices(): Promise<Partial<Record<DeviceKind, string>>> {
  const prefs = await loadDevicePreferences();
  if (!prefs.audioinput?.deviceId && !prefs.videoinput?.deviceId && !prefs.audiooutput?.deviceId) return {};
  const list = await listDevices().catch(() => undefined);
  const listed = !!list && [...list.microphones, ...list.cameras].some((d) => d.deviceId);
  const out: Partial<Record<DeviceKind, string>> = {};
  for (const kind of ['audioinput', 'videoinput', 'audiooutput'] as const) {
    const choice = prefs[kind];
    if (!choice?.deviceId) continue;
    const found = list ? resolveDevice(list, kind, choice) : undefined;
    if (found) out[kind] = found.deviceId;
    else if (!listed && kind !== 'audiooutput') out[kind] = choice.deviceId;
  }
  if (out.audiooutput && !canChooseSpeaker()) delete out.audiooutput;
  return out;
}

/** Whether this browser can route audio to a chosen output (`HTMLMediaElement.setSinkId`). */
export function canChooseSpeaker(): boolean {
  return typeof HTMLMediaElement !== 'undefined' && 'setSinkId' in HTMLMediaElement.prototype;
}
