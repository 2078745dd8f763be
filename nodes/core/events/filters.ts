import { SHORT_EVENT_TYPES } from './types';
import type { EsiLeapEvent, ShortEventType } from './types';

/**
 * Event selection shared by both trigger modes: which of the six event types, plus payload
 * filters by dot path on the NORMALIZED item (e.g. `lease.properties.ticket`,
 * `node.properties.cpu_arch`, `resource_type`). Unlike esi-event-actions, a missing key or a
 * non-string value never throws: it simply does not match.
 */

export const FILTER_OPERATORS = ['equals', 'notEquals', 'regex', 'exists', 'oneOf'] as const;
export type FilterOperator = (typeof FILTER_OPERATORS)[number];

export interface PayloadFilterSpec {
	path: string;
	operator: FilterOperator;
	/** Ignored by `exists`; comma-separated for `oneOf`; a JavaScript regex (search) for `regex`. */
	value?: string;
}

/** A filter spec that cannot be compiled; `index` is its position in the list (0-based). */
export class FilterConfigError extends Error {
	readonly index: number;
	readonly field: 'path' | 'operator' | 'value' | 'events';

	constructor(message: string, index: number, field: FilterConfigError['field']) {
		super(message);
		this.name = 'FilterConfigError';
		this.index = index;
		this.field = field;
	}
}

export type EventPredicate = (event: EsiLeapEvent) => boolean;
/** A payload-filter check on any item (the watch items share the filters with the six events). */
export type ItemPredicate = (item: object) => boolean;

/** Follows `a.b.c` through plain objects; undefined when any step is missing. */
export function getByPath(source: unknown, path: string): unknown {
	let current: unknown = source;
	for (const key of path.split('.')) {
		if (current === null || typeof current !== 'object' || Array.isArray(current)) return undefined;
		if (!Object.prototype.hasOwnProperty.call(current, key)) return undefined;
		current = (current as Record<string, unknown>)[key];
	}
	return current;
}

/** How a payload value is compared with the text the user typed. */
function asText(value: unknown): string | undefined {
	if (value === undefined || value === null) return undefined;
	if (typeof value === 'string') return value;
	if (typeof value === 'number' || typeof value === 'boolean') return String(value);
	return JSON.stringify(value);
}

function compileRegex(source: string): RegExp | Error {
	try {
		return new RegExp(source);
	} catch (error) {
		return error as Error;
	}
}

function compileOne(spec: PayloadFilterSpec, index: number): ItemPredicate {
	const path = spec.path.trim();
	if (path === '' || path.split('.').some((part) => part === '')) {
		throw new FilterConfigError(
			`Filter ${index + 1}: the field path "${spec.path}" is not a dot path`,
			index,
			'path',
		);
	}
	const expected = spec.value ?? '';
	const valueAt = (event: object) => asText(getByPath(event, path));
	switch (spec.operator) {
		case 'equals':
			return (event) => valueAt(event) === expected;
		case 'notEquals':
			return (event) => valueAt(event) !== expected;
		case 'exists':
			return (event) => valueAt(event) !== undefined;
		case 'oneOf': {
			const options = new Set(
				expected
					.split(',')
					.map((option) => option.trim())
					.filter((option) => option !== ''),
			);
			if (options.size === 0) {
				throw new FilterConfigError(
					`Filter ${index + 1}: "one of" needs at least one value`,
					index,
					'value',
				);
			}
			return (event) => {
				const actual = valueAt(event);
				return actual !== undefined && options.has(actual);
			};
		}
		case 'regex': {
			const pattern = compileRegex(expected);
			if (pattern instanceof Error) {
				throw new FilterConfigError(
					`Filter ${index + 1}: invalid regular expression (${pattern.message})`,
					index,
					'value',
				);
			}
			return (event) => {
				const actual = valueAt(event);
				return actual !== undefined && pattern.test(actual);
			};
		}
		default:
			throw new FilterConfigError(
				`Filter ${index + 1}: unknown operator "${String(spec.operator)}"`,
				index,
				'operator',
			);
	}
}

export interface EventSelection {
	events: readonly ShortEventType[];
	filters?: readonly PayloadFilterSpec[];
}

export function validateEventTypes(events: readonly string[]): ShortEventType[] {
	if (events.length === 0) throw new FilterConfigError('Select at least one event', 0, 'events');
	for (const [index, event] of events.entries()) {
		if (!(SHORT_EVENT_TYPES as readonly string[]).includes(event)) {
			throw new FilterConfigError(`Unknown event "${event}"`, index, 'events');
		}
	}
	return [...new Set(events)] as ShortEventType[];
}

/** The payload filters alone: every row must match. */
export function compileFilters(filters: readonly PayloadFilterSpec[]): ItemPredicate {
	const predicates = filters.map(compileOne);
	return (item) => predicates.every((matches) => matches(item));
}

/** Compiles the selection once (at activation), so a bad regex fails early, naming the filter. */
export function compileSelection(selection: EventSelection): EventPredicate {
	const events = new Set(validateEventTypes(selection.events));
	const matches = compileFilters(selection.filters ?? []);
	return (event) => events.has(event.event) && matches(event);
}
