import type { INodeType } from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';
import { describe, expect, it } from 'vitest';

import { createExecuteContext } from './executeContext';
import { createN8nHttp } from './n8nHttp';

const nodeType: INodeType = {
	description: {
		displayName: 'Probe',
		name: 'probe',
		group: ['transform'],
		version: 1,
		description: 'probe',
		defaults: { name: 'Probe' },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		properties: [
			{
				displayName: 'Mode',
				name: 'mode',
				type: 'options',
				options: [
					{ name: 'A', value: 'a' },
					{ name: 'B', value: 'b' },
				],
				default: 'a',
			},
			{
				displayName: 'Only A',
				name: 'onlyA',
				type: 'string',
				default: 'a-default',
				displayOptions: { show: { mode: ['a'] } },
			},
			{
				displayName: 'Thing',
				name: 'thing',
				type: 'resourceLocator',
				default: { mode: 'id', value: '' },
				modes: [
					{ displayName: 'ID', name: 'id', type: 'string' },
					{
						displayName: 'URL',
						name: 'url',
						type: 'string',
						extractValue: { type: 'regex', regex: 'https://example\\.org/things/([0-9]+)' },
					},
				],
			},
			{
				displayName: 'Options',
				name: 'options',
				type: 'collection',
				default: {},
				options: [{ displayName: 'Note', name: 'note', type: 'string', default: '' }],
			},
		],
	},
};

function contextFor(parameters: Record<string, unknown>, continueOnFail = false) {
	return createExecuteContext({
		nodeType,
		parameters: parameters as never,
		items: [
			{ json: { id: 7, nested: { note: 'first' } } },
			{ json: { id: 8, nested: { note: 'second' } } },
		],
		http: createN8nHttp({}),
		continueOnFail,
	}).context;
}

describe('fake IExecuteFunctions', () => {
	it('fills defaults of displayed parameters only, like n8n on workflow load', () => {
		const shownA = contextFor({});
		expect(shownA.getNodeParameter('onlyA', 0)).toBe('a-default');
		expect(shownA.getNodeParameter('thing', 0)).toEqual({ __rl: true, mode: 'id', value: '' });
		const shownB = contextFor({ mode: 'b' });
		expect(shownB.getNodeParameter('onlyA', 0, 'fallback')).toBe('fallback');
		expect(() => shownB.getNodeParameter('onlyA', 0)).toThrow('Could not get parameter "onlyA"');
	});

	it('resolves $json expressions against the item being processed, nested ones too', () => {
		const context = contextFor({
			thing: { __rl: true, mode: 'id', value: '={{ $json.id }}' },
			options: { note: '={{ $json.nested.note }}' },
		});
		expect(context.getNodeParameter('thing', 1, undefined, { extractValue: true })).toBe(8);
		expect(context.getNodeParameter('options', 0)).toEqual({ note: 'first' });
		expect(context.getNodeParameter('options.note', 1)).toBe('second');
	});

	it("applies a locator mode's extractValue regex, failing like n8n on a mismatch", () => {
		const good = contextFor({
			thing: { __rl: true, mode: 'url', value: 'https://example.org/things/42' },
		});
		expect(good.getNodeParameter('thing', 0, undefined, { extractValue: true })).toBe('42');
		const bad = contextFor({ thing: { __rl: true, mode: 'url', value: 'https://elsewhere' } });
		expect(() => bad.getNodeParameter('thing', 0, undefined, { extractValue: true })).toThrow(
			"Thing parameter's value is invalid",
		);
	});

	it('derives continueOnFail from the node setting', () => {
		expect(contextFor({}).continueOnFail()).toBe(false);
		expect(contextFor({}, true).continueOnFail()).toBe(true);
	});
});
