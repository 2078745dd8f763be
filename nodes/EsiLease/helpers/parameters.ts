/**
 * Reading and checking node parameters. Every failure is an `invalid_input` EsiLeapError naming
 * the parameter, raised before any request; the router turns it into a NodeOperationError.
 */
import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';

import { invalidParameter as invalid } from '../../shared/locators';
import { toInstant } from './zonedTime';

/** A date-time parameter as an instant; naive picker values are in the workflow's time zone. */
export function readTime(value: unknown, context: IExecuteFunctions, field: string) {
	return toInstant(value, context.getTimezone(), field);
}

/** ESI answers an inverted window with a 500; say which field is wrong instead. */
export function requireOrdered(
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
export function readJsonObject(value: unknown, field: string): IDataObject | undefined {
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

/** Get Many: ESI never paginates, so the limit is applied to the full answer. */
export function limitResults<T>(context: IExecuteFunctions, itemIndex: number, records: T[]): T[] {
	if (context.getNodeParameter('returnAll', itemIndex, false) as boolean) return records;
	const limit = context.getNodeParameter('limit', itemIndex, 50) as number;
	if (!Number.isInteger(limit) || limit < 1) throw invalid('limit', 'must be a whole number ≥ 1');
	return records.slice(0, limit);
}
