// Every credential strategy and delivery jobrole has: adding one is its own file plus one line here.

import type { Delivery, Strategy } from '../config/types.js';
import type { CredentialStrategy } from '../credentials/strategy.js';
import { assumeRoleStrategy } from '../credentials/assume-role-strategy.js';
import { webIdentityStrategy } from '../credentials/web-identity-strategy.js';
import { instanceProfileStrategy } from '../credentials/instance-profile-strategy.js';
import type { DeliveryMethod } from '../delivery/delivery.js';
import { endpointDelivery } from '../delivery/endpoint-delivery.js';
import { envDelivery } from '../delivery/env-delivery.js';
import { fileDelivery } from '../delivery/file-delivery.js';
import { webIdentityFileDelivery } from '../delivery/web-identity-file-delivery.js';

/** Keyed by the config's names (config/types.ts STRATEGIES): the compiler insists every name has one. */
export const STRATEGY_REGISTRY: Readonly<Record<Strategy, CredentialStrategy>> = {
  'assume-role': assumeRoleStrategy,
  'web-identity': webIdentityStrategy,
  'instance-profile': instanceProfileStrategy,
};

/** Keyed by the config's names (config/types.ts DELIVERIES). */
export const DELIVERY_REGISTRY: Readonly<Record<Delivery, DeliveryMethod>> = {
  endpoint: endpointDelivery,
  env: envDelivery,
  file: fileDelivery,
  'web-identity-file': webIdentityFileDelivery,
};
