// The driver's version, reported to the runner by the config stage.

export const VERSION = '0.1.0';
