import { resolve } from 'node:path';
import { parseDuration } from '../../kernel/index.js';
import type { HubConfig } from '../config/schema.js';
import type { SecurityOptions } from './security.js';

/** The security policy's options from the validated `mqtt.security` section. */
export function securityOptionsFromConfig(security: HubConfig['mqtt']['security']): SecurityOptions {
  return {
    passwordFile: security.password_file === undefined ? undefined : resolve(security.password_file),
    aclFile: security.acl_file === undefined ? undefined : resolve(security.acl_file),
    allowAnonymous: security.allow_anonymous,
    clientIdMustMatchUsername: security.clientid_must_match_username,
    authDelayMs: parseDuration(security.auth_delay),
    authDelayMaxMs: parseDuration(security.auth_delay_max),
  };
}
