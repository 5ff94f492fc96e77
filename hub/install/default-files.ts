import { INSTALL_PATHS } from './layout.js';

/**
 * `/etc/edgehub/config.yaml` as `edgehub install` first writes it: the installed layout, everything
 * else at its default (the README lists every key). Never rewritten once it exists: it is the user's.
 */
export function defaultConfig(): string {
  return `# edgehub's configuration; every key and its default is in the README ("Configuration").
# After editing: \`sudo edgehub check ${INSTALL_PATHS.rulesDir} --config ${INSTALL_PATHS.config}\`, then
# \`sudo systemctl restart edgehub\`. Rule files are reloaded by themselves; \`sudo systemctl reload edgehub\`
# re-reads the password file, the ACL file and the TLS certificate.
hub:
  data_dir: ${INSTALL_PATHS.dataDir}
  rules_dir: ${INSTALL_PATHS.rulesDir}
mqtt:
  # Loopback only. For devices on the network use 0.0.0.0: they then need a user in the password
  # file (\`sudo edgehub passwd ${INSTALL_PATHS.passwordFile} DEVICE_ID\`) and topics in the ACL file.
  host: 127.0.0.1
  security:
    password_file: ${INSTALL_PATHS.passwordFile}
    acl_file: ${INSTALL_PATHS.aclFile}
`;
}

/**
 * `/etc/edgehub/acl` as first written: clients on this machine may use every topic, and each device
 * with a password its own topics under edgehub's conventions (its username is its device id).
 */
export function defaultAcl(): string {
  return `# Mosquitto's acl_file format; see the README ("Topics: the ACL file").
# Re-read on \`sudo systemctl reload edgehub\`.

# Anonymous clients (without a username), accepted only from this machine by default.
topic readwrite #

# Each device with a password: its own topics (its username is its device id).
pattern write sensors/%u/#
pattern readwrite devices/%u/#
pattern read actuators/%u/#
pattern write actuators/%u/+/state

# A user that sees everything, e.g. Home Assistant:
# user homeassistant
# topic readwrite #
`;
}
