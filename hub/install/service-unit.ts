import { INSTALL_PATHS, SERVICE_GROUP, SERVICE_USER } from './layout.js';

/** How the service runs the hub: the node binary, its flags and the edgehub script. */
export interface ExecStart {
  /** Absolute path of the node binary. */
  node: string;
  /** Node flags from the `edgehub` command's shebang, e.g. `--max-semi-space-size=4`. */
  nodeFlags: readonly string[];
  /** Absolute path of `bin/edgehub.js` in the installed package. */
  script: string;
  /** `NAME=VALUE` pairs from the shebang, e.g. `MALLOC_ARENA_MAX=2`. */
  environment: readonly string[];
}

export interface ServiceUnitOptions {
  execStart: ExecStart;
  /** Groups besides the service's own: `dialout` for serial ports, `gpio` where the system has it. */
  supplementaryGroups: readonly string[];
}

/**
 * A cap for a runaway, not a budget: the hub peaks near 90 MiB at 2,000 events/s and about 210 MiB
 * with V8's default heap growth (README, "Memory on a Raspberry Pi"). Past MemoryHigh the kernel
 * reclaims from the service first; past MemoryMax it is killed and restarted (Restart=on-failure).
 */
const MEMORY_HIGH = '384M';
const MEMORY_MAX = '512M';

/** A systemd value with spaces or specials quoted as systemd's own unit-file syntax wants. */
function quoted(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `"${word.replace(/(["\\])/g, '\\$1')}"`;
}

/**
 * `/etc/systemd/system/edgehub.service`: the hub run as the unprivileged `edgehub` user, with the
 * sandbox as tight as the hub's needs allow (serial ports, V8's JIT, listening on 1883/8883/9001/8080,
 * writing only its data folder). Every line that looks missing has a comment saying why.
 */
export function serviceUnit(opts: ServiceUnitOptions): string {
  const { execStart } = opts;
  const command = [
    execStart.node,
    ...execStart.nodeFlags,
    execStart.script,
    'start',
    '--config',
    INSTALL_PATHS.config,
  ]
    .map(quoted)
    .join(' ');
  const environment = ['NODE_ENV=production', ...execStart.environment].map(quoted).join(' ');
  const groups = opts.supplementaryGroups.join(' ');
  return `# Written by \`edgehub install\`; \`edgehub install\` again rewrites it, so put local changes in
# \`systemctl edit edgehub\` (a drop-in) rather than here. Review it with \`edgehub install --print-unit\`.
[Unit]
Description=edgehub IoT edge event hub (MQTT broker, event store, rules)
Documentation=https://www.npmjs.com/package/edgehub
After=network-online.target
Wants=network-online.target
# At most 5 failed starts in 5 minutes, then systemd stops trying (\`systemctl reset-failed edgehub\`).
StartLimitIntervalSec=300
StartLimitBurst=5

[Service]
# Type=notify (with WatchdogSec=) would need the hub to send sd_notify datagrams; Node.js has no
# AF_UNIX datagram socket of its own, and the optional unix-dgram addon that would give one is not
# installed. Type=exec still reports a missing or unrunnable binary as a failed start.
Type=exec
User=${SERVICE_USER}
Group=${SERVICE_GROUP}
# dialout owns /dev/ttyUSB*, /dev/ttyACM* and /dev/ttyAMA*; gpio the Pi's GPIO chips.
SupplementaryGroups=${groups}
ExecStart=${command}
# SIGHUP re-reads the password file, the ACL file and the TLS certificate.
ExecReload=/bin/kill -HUP $MAINPID
Environment=${environment}
WorkingDirectory=${INSTALL_PATHS.dataDir}
Restart=on-failure
RestartSec=5s
# SIGTERM flushes buffered events before the hub exits; that takes well under a second.
TimeoutStopSec=30s
# Clients' connections and the event store's files; 1,024 connections are allowed by default.
LimitNOFILE=8192

# Memory: see the README; UMask keeps new data files away from other users.
MemoryHigh=${MEMORY_HIGH}
MemoryMax=${MEMORY_MAX}
UMask=0027

# Logs go to the journal; a hub in trouble may log in bursts. Size limits of the journal itself are
# journald's (${INSTALL_PATHS.journaldDropIn}).
LogRateLimitIntervalSec=30s
LogRateLimitBurst=1000

# Filesystem: everything read-only but the data folder and the rules the dashboard's editor saves;
# no home folders, a private /tmp.
ProtectSystem=strict
ReadWritePaths=${INSTALL_PATHS.dataDir} ${INSTALL_PATHS.rulesDir}
ProtectHome=yes
PrivateTmp=yes
PrivateMounts=yes

# Devices: PrivateDevices=yes would hide the serial ports, so the device list is closed instead and
# opened for USB serial adapters and CDC boards (Arduino Uno, ESP32) and the Pi's own UARTs. The Pi 3/4
# mini UART is /dev/ttyS0: add \`DeviceAllow=char-ttyS rw\` in a drop-in if a board is wired to it.
DevicePolicy=closed
DeviceAllow=char-ttyUSB rw
DeviceAllow=char-ttyACM rw
DeviceAllow=char-ttyAMA rw

# Privileges: none. 1883, 8883, 9001 and 8080 are above 1024, so no CAP_NET_BIND_SERVICE either.
NoNewPrivileges=yes
CapabilityBoundingSet=
AmbientCapabilities=
RestrictSUIDSGID=yes
# PrivateUsers=yes is left off: in its user namespace only the service's own user and group are
# mapped, so the dialout group that owns the serial ports could not be a supplementary group.

# Kernel and the rest of the system: nothing to change.
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
ProtectProc=invisible
ProcSubset=pid
RestrictNamespaces=yes
RestrictRealtime=yes
LockPersonality=yes
RemoveIPC=yes
KeyringMode=private
# AF_NETLINK: glibc's getaddrinfo() (with AI_ADDRCONFIG, as node connects to a host name, e.g. a
# connector's remote) and os.networkInterfaces() ask the kernel over netlink.
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK

# System calls: what a service needs, without the privileged and resource-control sets. A call left
# out fails with EPERM instead of killing the hub (libuv then falls back, e.g. from io_uring).
SystemCallFilter=@system-service
SystemCallFilter=~@privileged @resources
SystemCallErrorNumber=EPERM
SystemCallArchitectures=native
# MemoryDenyWriteExecute=yes stays off: V8's JIT compiler writes machine code and then runs it.

[Install]
WantedBy=multi-user.target
`;
}

/**
 * `/etc/systemd/journald.conf.d/edgehub.conf`. journald's size limits apply to the whole journal,
 * not to one unit, so they cannot go in the service unit; on an SD card the default (10 % of the
 * filesystem, up to 4 GiB) is a lot of writing and space for a small machine.
 */
export function journaldDropIn(): string {
  return `# Written by \`edgehub install\`, removed by \`edgehub uninstall\`.
# journald's size limits are for the whole journal (there is no per-unit size limit), so they live
# here rather than in edgehub.service. On an SD card the default, 10 % of the filesystem up to 4 GiB,
# is more writing and space than a small machine needs. Applied by \`systemctl restart systemd-journald\`.
[Journal]
SystemMaxUse=200M
SystemKeepFree=500M
SystemMaxFileSize=20M
RuntimeMaxUse=50M
MaxRetentionSec=1month
`;
}
