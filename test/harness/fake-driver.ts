// Where the harness's fake driver lives, as a RunJobOptions['driver'] value.
import { fileURLToPath } from 'node:url';
import type { DriverCommand } from './types.js';

const FAKE_DRIVER_PATH = fileURLToPath(new URL('./fixtures/fake-driver.mjs', import.meta.url));

export function fakeDriver(): DriverCommand {
  return { command: process.execPath, args: [FAKE_DRIVER_PATH] };
}
