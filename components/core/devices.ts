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
export async function loadDevicePreferences(): Promise<DevicePreferences> {
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

/** Whether this browser can route audio to a chosen output (`HTMLMediaElement.setSinkId`). */
export function canChooseSpeaker(): boolean {
  return typeof HTMLMediaElement !== 'undefined' && 'setSinkId' in HTMLMediaElement.prototype;
}
