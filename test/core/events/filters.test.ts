import { describe, expect, it } from 'vitest';

import { decodeNotification } from '../../../nodes/core/events/envelope';
import { compileSelection, FilterConfigError, getByPath } from '../../../nodes/core/events/filters';
import type { FilterOperator, PayloadFilterSpec } from '../../../nodes/core/events/filters';
import { normalizeBusNotification } from '../../../nodes/core/events/normalize';
import { SHORT_EVENT_TYPES } from '../../../nodes/core/events/types';
import type { EsiLeapEvent, ShortEventType } from '../../../nodes/core/events/types';
import { loadCapture } from '../../helpers/fixtures';

function item(name: string): EsiLeapEvent {
	const result = decodeNotification(loadCapture(name).body);
	if (result.kind !== 'lease') throw new Error('expected a lease notification');
	return normalizeBusNotification(result.notification);
}

// fulfill.end on a dummy node with node_properties {cpus: 4, memory_mb: 8192, local_gb: 40}.
const fulfillEnd = item('amqp-lease-fulfill-end');
const deleteEnd = item('amqp-lease-delete-end');
const fulfillError = item('amqp-lease-fulfill-error');

describe('compileSelection: event types', () => {
	it('matches only the selected events', () => {
		const matches = compileSelection({ events: ['fulfill.end', 'delete.end'] });
		expect(matches(fulfillEnd)).toBe(true);
		expect(matches(deleteEnd)).toBe(true);
		expect(matches(fulfillError)).toBe(false);
	});

	it('rejects an empty or unknown selection', () => {
		expect(() => compileSelection({ events: [] })).toThrow(FilterConfigError);
		expect(() => compileSelection({ events: ['expire.end' as ShortEventType] })).toThrow(
			/expire\.end/,
		);
	});
});

describe('compileSelection: payload filters on the normalized item', () => {
	const all = SHORT_EVENT_TYPES;
	type BadFilter = { path: string; operator: string; value?: string };
	/** The error of compiling a good filter followed by `filter` (so it is filter 2, index 1). */
	const compileError = (filter: BadFilter): FilterConfigError => {
		try {
			compileSelection({
				events: all,
				filters: [
					{ path: 'phase', operator: 'exists' },
					{ ...filter, operator: filter.operator as FilterOperator },
				],
			});
		} catch (error) {
			return error as FilterConfigError;
		}
		throw new Error('expected a FilterConfigError');
	};
	const one = (filter: PayloadFilterSpec) => compileSelection({ events: all, filters: [filter] });

	it('equals and not equals compare the text of the value (numbers included)', () => {
		expect(
			one({ path: 'resource_type', operator: 'equals', value: 'dummy_node' })(fulfillEnd),
		).toBe(true);
		expect(one({ path: 'node.properties.cpus', operator: 'equals', value: '4' })(fulfillEnd)).toBe(
			true,
		);
		expect(one({ path: 'node.properties.cpus', operator: 'equals', value: '8' })(fulfillEnd)).toBe(
			false,
		);
		expect(one({ path: 'lease.status', operator: 'notEquals', value: 'active' })(fulfillEnd)).toBe(
			true,
		);
		expect(one({ path: 'lease.status', operator: 'notEquals', value: 'active' })(deleteEnd)).toBe(
			false,
		);
	});

	it('not equals passes a missing field and a null (README: "except Not Equals, which it passes")', () => {
		// purpose is null in every capture (amqp-lease-fulfill-error.body included).
		expect(fulfillError.lease!.purpose).toBeNull();
		const notScratch = one({ path: 'lease.purpose', operator: 'notEquals', value: 'ci-scratch' });
		expect(notScratch(fulfillError)).toBe(true);
		expect(
			one({ path: 'lease.nothing.here', operator: 'notEquals', value: 'x' })(fulfillError),
		).toBe(true);
		// ... and rejects the value it names.
		const scratch: EsiLeapEvent = {
			...fulfillError,
			lease: { ...fulfillError.lease!, purpose: 'ci-scratch' },
		};
		expect(notScratch(scratch)).toBe(false);
		// Equals on the same missing or null field never matches.
		expect(one({ path: 'lease.purpose', operator: 'equals', value: '' })(fulfillError)).toBe(false);
		expect(one({ path: 'lease.nothing', operator: 'equals', value: '' })(fulfillError)).toBe(false);
	});

	it('regex searches the value; a missing key or null never matches', () => {
		expect(one({ path: 'node.name', operator: 'regex', value: '^dummy-node-' })(fulfillEnd)).toBe(
			true,
		);
		expect(one({ path: 'node.name', operator: 'regex', value: '^fake-' })(fulfillEnd)).toBe(false);
		expect(
			one({ path: 'node.properties.cpu_arch', operator: 'regex', value: '.*' })(fulfillEnd),
		).toBe(false);
		expect(one({ path: 'lease.purpose', operator: 'regex', value: '.*' })(fulfillEnd)).toBe(false);
	});

	it('exists is false for missing keys and nulls', () => {
		expect(one({ path: 'lease.offer_uuid', operator: 'exists' })(fulfillEnd)).toBe(true);
		expect(one({ path: 'lease.parent_lease_uuid', operator: 'exists' })(fulfillEnd)).toBe(false);
		expect(one({ path: 'lease.nothing.here', operator: 'exists' })(fulfillEnd)).toBe(false);
	});

	it('one of takes a comma-separated list', () => {
		const phase = one({ path: 'phase', operator: 'oneOf', value: 'end, error' });
		expect(phase(fulfillEnd)).toBe(true);
		expect(phase(fulfillError)).toBe(true);
		expect(phase(item('amqp-lease-fulfill-start'))).toBe(false);
	});

	it('all filters must match', () => {
		const matches = compileSelection({
			events: all,
			filters: [
				{ path: 'action', operator: 'equals', value: 'delete' },
				{ path: 'resource_type', operator: 'equals', value: 'dummy_node' },
			],
		});
		expect(matches(deleteEnd)).toBe(true);
		expect(matches(fulfillEnd)).toBe(false);
	});

	it('reports bad filters at compile time with their position', () => {
		expect(compileError({ path: 'x', operator: 'regex', value: '(' })).toMatchObject({
			index: 1,
			field: 'value',
		});
		expect(compileError({ path: 'a..b', operator: 'exists' })).toMatchObject({
			index: 1,
			field: 'path',
		});
		expect(compileError({ path: 'x', operator: 'oneOf', value: ' , ' })).toMatchObject({
			index: 1,
			field: 'value',
		});
		expect(compileError({ path: 'x', operator: 'like', value: 'y' })).toMatchObject({
			index: 1,
			field: 'operator',
		});
	});

	it('names the filter by its 1-based position and says what is wrong', () => {
		const message = (filter: BadFilter) => {
			const error = compileError(filter);
			expect(error.name).toBe('FilterConfigError');
			return error.message;
		};
		expect(message({ path: 'a..b', operator: 'exists' })).toBe(
			'Filter 2: the field path "a..b" is not a dot path',
		);
		expect(message({ path: 'x', operator: 'oneOf', value: ',' })).toBe(
			'Filter 2: "one of" needs at least one value',
		);
		expect(message({ path: 'x', operator: 'regex', value: '(' })).toMatch(
			/^Filter 2: invalid regular expression \(.+\)$/,
		);
		expect(message({ path: 'x', operator: 'like' })).toBe('Filter 2: unknown operator "like"');
		expect(() => compileSelection({ events: [] })).toThrow(/^Select at least one event$/);
		// The shell names the Events field (not Payload Filters) by this.
		for (const events of [[], ['expire.end']] as unknown as ShortEventType[][]) {
			expect(() => compileSelection({ events })).toThrow(
				expect.objectContaining({ field: 'events', index: 0 }),
			);
		}
		expect(() => compileSelection({ events: ['expire.end' as ShortEventType] })).toThrow(
			/^Unknown event "expire.end"$/,
		);
	});

	it('compares objects by their JSON text, trims the path, and takes a missing value as empty text', () => {
		const properties = fulfillEnd.node!.properties;
		expect(
			one({ path: 'node.properties', operator: 'equals', value: JSON.stringify(properties) })(
				fulfillEnd,
			),
		).toBe(true);
		expect(
			one({ path: ' resource_type ', operator: 'equals', value: 'dummy_node' })(fulfillEnd),
		).toBe(true);
		const unnamed: EsiLeapEvent = { ...fulfillEnd, lease: { ...fulfillEnd.lease!, name: '' } };
		expect(one({ path: 'lease.name', operator: 'equals' })(unnamed)).toBe(true);
		// A null is missing, not the text "null".
		expect(one({ path: 'lease.purpose', operator: 'equals', value: 'null' })(fulfillEnd)).toBe(
			false,
		);
	});
});

describe('getByPath', () => {
	it('walks plain objects only, never the prototype', () => {
		expect(getByPath({ a: { b: 1 } }, 'a.b')).toBe(1);
		expect(getByPath({ a: [1] }, 'a.0')).toBeUndefined();
		expect(getByPath({}, 'constructor')).toBeUndefined();
		expect(getByPath({ a: null }, 'a.b')).toBeUndefined();
		expect(getByPath({ a: 'text' }, 'a.length')).toBeUndefined();
		expect(getByPath({ a: [{ b: 1 }] }, 'a.0.b')).toBeUndefined();
	});
});
