import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';

import { readLocator } from '../../shared/locators';

/**
 * Deletes the lease or offer the locator names. ESI answers a DELETE with `null`; the item says
 * what was deleted instead. One given by name is deleted by that name (ESI resolves it among the
 * deletable ones), so its UUID is only known when it was given.
 */
export async function deleteLocated(
	context: IExecuteFunctions,
	itemIndex: number,
	parameterName: string,
	kind: 'lease' | 'offer',
	remove: (uuidOrName: string) => Promise<unknown>,
): Promise<IDataObject> {
	const located = readLocator(context, parameterName, itemIndex, kind);
	await remove(located.value);
	return {
		deleted: true,
		resource: kind,
		...(located.mode === 'name' ? { name: located.value } : { uuid: located.value }),
	};
}
