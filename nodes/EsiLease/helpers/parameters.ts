/**
 * Reading and checking node parameters. Every failure is an `invalid_input` EsiLeapError naming
 * the parameter, raised before any request; the router turns it into a NodeOperationError.
 */
import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';

import { invalidParameter as invalid } from '../../shared/locators';
import { toInstant } from './zonedTime';

/** ESI's name and purpose columns are String(35) and String(255). */
const NAME_MAX_LENGTH = 35;
const PURPOSE_MAX_LENGTH = 255;

/** A date-time parameter as an instant; naive picker values are in the workflow's time zone. */
export function readTime(value: unknown, context: IExecuteFunctions, field: string) {
	return toInstant(value, context.getTimezone(), field);
}

/**
 * A start/end pair of date-time parameters from `source` (a collection's values), read in the
 * workflow's time zone and checked to be in order.
 */
export function readTimeWindow(
	context: IExecuteFunctions,
	source: IDataObject,
	startField: string,
	endField: string,
): { start: Date | undefined; end: Date | undefined } {
	const start = readTime(source[startField], context, startField);
	const end = readTime(source[endField], context, endField);
	requireOrdered(start, end, startField, endField);
	return { start, end };
}

/** ESI answers an inverted window with a 500; say which field is wrong instead. */
function requireOrdered(
	start: Date | undefined,
	end: Date | undefined,
	startField: string,
	endField: string,
): void {
	if (start && end && end.getTime() <= start.getTime()) {
		throw invalid(
			endField,
			`must be after ${startField} (${end.toISOString()} is not after ${start.toISOString()})`,
		);
	}
}

/** A JSON parameter: n8n hands over the typed text, or an object when it came from an expression. */
function readJsonObject(value: unknown, field: string): IDataObject | undefined {
	if (value === undefined || value === null || value === '') return undefined;
	let parsed: unknown = value;
	if (typeof value === 'string') {
		try {
			parsed = JSON.parse(value);
		} catch (error) {
			throw invalid(field, `is not valid JSON (${(error as Error).message})`);
		}
	}
	if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
		throw invalid(field, 'must be a JSON object, e.g. {"ticket": "OPS-42"}');
	}
	return parsed as IDataObject;
}

/** Optional free text: trimmed, empty means absent, with ESI's column limits checked. */
export function readText(value: unknown, field: string, maxLength?: number): string | undefined {
	if (value === undefined || value === null) return undefined;
	const text = String(value).trim();
	if (text === '') return undefined;
	if (maxLength !== undefined && text.length > maxLength) {
		throw invalid(field, `is ${text.length} characters long; ESI Leap stores at most ${maxLength}`);
	}
	return text;
}

/** Required free text. */
export function requireText(value: unknown, field: string, maxLength?: number): string {
	const text = readText(value, field, maxLength);
	if (text === undefined) throw invalid(field, 'is required');
	return text;
}

/**
 * The optional fields create and claim share, from "Additional Fields" (a new lease or offer).
 * `fields` is returned for what only one operation reads.
 */
export function readNewRecordFields(context: IExecuteFunctions, itemIndex: number) {
	const fields = context.getNodeParameter('additionalFields', itemIndex, {}) as IDataObject;
	const window = readTimeWindow(context, fields, 'startTime', 'endTime');
	return {
		fields,
		common: {
			startTime: window.start,
			endTime: window.end,
			name: readText(fields.name, 'name', NAME_MAX_LENGTH),
			properties: readJsonObject(fields.properties, 'properties'),
		},
	};
}

/** A lease's purpose; ESI's column is String(255). */
export function readPurpose(fields: IDataObject): string | undefined {
	return readText(fields.purpose, 'purpose', PURPOSE_MAX_LENGTH);
}
