import type { IDataObject } from 'n8n-workflow';

import type { LocatedValue } from '../../shared/locators';

/**
 * ESI answers a DELETE with `null`; the item says what was deleted instead. A lease or offer
 * given by name is deleted by that name (ESI resolves it among the deletable ones), so its
 * UUID is only known when it was given.
 */
export function deletedItem(resource: string, located: LocatedValue): IDataObject {
	const byName = located.mode === 'name';
	return {
		deleted: true,
		resource,
		...(byName ? { name: located.value } : { uuid: located.value }),
	};
}
