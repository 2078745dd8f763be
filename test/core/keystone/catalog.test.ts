import { describe, expect, it } from 'vitest';

import type { CatalogEntry } from '../../../nodes/core/keystone/auth';
import {
	normalizeLeaseEndpoint,
	resolveLeaseEndpoint,
	selectLeaseEndpoint,
} from '../../../nodes/core/keystone/catalog';
import { LEASE_PUBLIC, catalog } from './keystoneFake';

const entries = catalog() as CatalogEntry[];

describe('selectLeaseEndpoint', () => {
	it('picks by interface and region, returning the root URL', () => {
		expect(selectLeaseEndpoint(entries, { interface: 'public', region: 'RegionOne' })).toBe(
			LEASE_PUBLIC,
		);
		expect(selectLeaseEndpoint(entries, { interface: 'internal' })).toBe('http://10.0.0.5:7777');
		expect(selectLeaseEndpoint(entries, { interface: 'public', region: 'RegionTwo' })).toBe(
			'https://esi2.example:7777',
		);
	});

	it('asks for a region when several endpoints match', () => {
		expect(() => selectLeaseEndpoint(entries, { interface: 'public' })).toThrow(/set the region/);
	});

	it('lists what the catalog has when nothing matches', () => {
		try {
			selectLeaseEndpoint(entries, { interface: 'admin', region: 'RegionOne' });
			expect.unreachable();
		} catch (error) {
			expect(error).toMatchObject({ kind: 'config' });
			const message = (error as Error).message;
			expect(message).toContain('interface "admin"');
			expect(message).toContain('lease [public@RegionOne, internal@RegionOne, public@RegionTwo]');
			expect(message).toContain('override');
		}
	});

	it('says so when the catalog has no lease service at all', () => {
		expect(() =>
			selectLeaseEndpoint(
				entries.filter((entry) => entry.type !== 'lease'),
				{ interface: 'public' },
			),
		).toThrow(/no ESI Leap endpoint.*identity \[public@RegionOne\]/);
		expect(() => selectLeaseEndpoint([], { interface: 'public' })).toThrow(/project-scoped/);
	});
});

describe('resolveLeaseEndpoint', () => {
	it('prefers the override and strips /v1', () => {
		expect(resolveLeaseEndpoint([], { interface: 'public' }, ' http://leap:7777/v1/ ')).toBe(
			'http://leap:7777',
		);
	});

	it('rejects an override that is not a URL', () => {
		expect(() => resolveLeaseEndpoint([], { interface: 'public' }, 'leap:7777')).toThrow(
			/endpoint override/,
		);
	});

	it('normalizes roots', () => {
		expect(normalizeLeaseEndpoint('http://h:7777/')).toBe('http://h:7777');
		expect(normalizeLeaseEndpoint('http://h/lease/v1')).toBe('http://h/lease');
	});
});
