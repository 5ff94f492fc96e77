import { afterEach, describe, expect, it } from 'vitest';
import { FakeMachine } from './fake-doctor-env.js';
import { mayAccess, serviceUser } from './service-user.js';

let machine: FakeMachine | undefined;
afterEach(() => machine?.cleanup());

function etc(m: FakeMachine): void {
  m.file(
    '/etc/passwd',
    'root:x:0:0:root:/root:/bin/bash\npi:x:1000:1000::/home/pi:/bin/bash\nedgehub:x:998:997::/var/lib/edgehub:/usr/sbin/nologin\n',
  );
  m.file('/etc/group', 'root:x:0:\ndialout:x:20:pi,edgehub\ngpio:x:997:edgehub\npi:x:1000:\n');
}

describe('serviceUser', () => {
  it('is the installed edgehub user, with its groups from /etc/group, when run as root', () => {
    machine = new FakeMachine();
    etc(machine);
    const user = serviceUser(machine.env({ uid: 0, gid: 0, groups: [0] }));
    expect(user).toMatchObject({ name: 'edgehub', uid: 998, gid: 997, service: true });
    expect([...user.gids].sort()).toEqual([20, 997]);
  });

  it('is the current user otherwise, noting groups added since the login', () => {
    machine = new FakeMachine();
    etc(machine);
    const user = serviceUser(machine.env({ uid: 1000, gid: 1000, groups: [1000] }));
    expect(user).toMatchObject({ name: 'pi', uid: 1000, service: false, notInSession: [20] });
    expect(user.gids).not.toContain(20);
  });

  it('is root when run as root on a machine without the service user', () => {
    machine = new FakeMachine();
    machine.file('/etc/passwd', 'root:x:0:0:root:/root:/bin/bash\n');
    expect(serviceUser(machine.env({ uid: 0, gid: 0, groups: [0] }))).toMatchObject({
      name: 'root',
      service: false,
    });
  });
});

describe('mayAccess', () => {
  const tty = { mode: 0o20660, uid: 0, gid: 20 };
  it('decides by owner, group and other bits as the kernel does', () => {
    expect(mayAccess(tty, { uid: 1000, gids: [1000, 20] }, 6)).toBe(true);
    expect(mayAccess(tty, { uid: 1000, gids: [1000] }, 6)).toBe(false);
    expect(mayAccess(tty, { uid: 0, gids: [] }, 6)).toBe(true);
    expect(mayAccess({ mode: 0o604, uid: 5, gid: 5 }, { uid: 1000, gids: [5] }, 4)).toBe(false);
    expect(mayAccess({ mode: 0o640, uid: 5, gid: 5 }, { uid: 5, gids: [] }, 6)).toBe(true);
  });
});
