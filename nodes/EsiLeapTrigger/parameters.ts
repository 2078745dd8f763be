/**
 * Readers for the trigger's own parameters. A bad value fails the activation with a
 * NodeOperationError whose message starts with the field's display name.
 */
import type { ITriggerFunctions } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

export interface NumberBounds {
	min: number;
	integer: boolean;
}

/** A field of the "Options" collection, or `fallback` when it was not added. */
export function option<T>(context: ITriggerFunctions, name: string, fallback: T): T {
	return context.getNodeParameter(`options.${name}`, fallback) as T;
}

export function requireNumber(
	context: ITriggerFunctions,
	value: number,
	field: string,
	{ min, integer }: NumberBounds,
): number {
	if (!Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
		throw new NodeOperationError(
			context.getNode(),
			`${field} must be ${integer ? 'a whole number' : 'a number'} of at least ${min}`,
		);
	}
	return value;
}

/** Like requireNumber, but reads the parameter and takes numeric text (from an expression) too. */
export function readNumber(
	context: ITriggerFunctions,
	name: string,
	field: string,
	fallback: number,
	bounds: NumberBounds,
): number {
	return requireNumber(context, Number(context.getNodeParameter(name, fallback)), field, bounds);
}

export function requireText(context: ITriggerFunctions, value: string, field: string): string {
	const trimmed = value.trim();
	if (trimmed === '') throw new NodeOperationError(context.getNode(), `${field} must not be empty`);
	return trimmed;
}

/** Trimmed text; empty means not set. */
export function optionalText(context: ITriggerFunctions, name: string): string | undefined {
	const value = String(context.getNodeParameter(name, '') ?? '').trim();
	return value === '' ? undefined : value;
}
