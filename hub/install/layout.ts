/** The system user the service runs as; its own group has the same name. */
export const SERVICE_USER = 'edgehub';
export const SERVICE_GROUP = 'edgehub';

/** Where `edgehub install` puts things, as absolute paths on the installed system (not under `--root`). */
export const INSTALL_PATHS = {
  configDir: '/etc/edgehub',
  config: '/etc/edgehub/config.yaml',
  rulesDir: '/etc/edgehub/rules',
  passwordFile: '/etc/edgehub/passwords',
  aclFile: '/etc/edgehub/acl',
  dataDir: '/var/lib/edgehub',
  unit: '/etc/systemd/system/edgehub.service',
  journaldDropIn: '/etc/systemd/journald.conf.d/edgehub.conf',
} as const;

/** The unit's name for systemctl. */
export const SERVICE_NAME = 'edgehub';
