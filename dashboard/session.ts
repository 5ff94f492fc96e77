import { signal } from '@preact/signals';
import { api } from './api.js';
import type { Me, Role } from './types.js';

/** Who is logged in; undefined while the first /api/me is on its way, null when nobody is. */
export const me = signal<Me | null | undefined>(undefined);

/** What each role may do, as the hub enforces it (viewer < operator < admin). */
export type Action = 'command' | 'acknowledge' | 'edit-rules';

const NEEDS: Record<Action, Role> = { command: 'operator', acknowledge: 'operator', 'edit-rules': 'admin' };
const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

export function may(role: Role | undefined, action: Action): boolean {
  return role !== undefined && RANK[role] >= RANK[NEEDS[action]];
}

/** The same for whoever is logged in now. */
export function can(action: Action): boolean {
  return may(me.value?.role, action);
}

export async function loadMe(): Promise<void> {
  try {
    me.value = await api<Me>('/api/me');
  } catch {
    me.value = null;
  }
}

export async function logIn(user: string, password: string): Promise<void> {
  const answer = await api<{ user: string; role: Role }>('/api/login', {
    method: 'POST',
    body: { user, password },
  });
  me.value = { user: answer.user, role: answer.role, auth: 'session' };
}

export async function logOut(): Promise<void> {
  try {
    await api('/api/logout', { method: 'POST', body: {} });
  } finally {
    me.value = null;
  }
}
