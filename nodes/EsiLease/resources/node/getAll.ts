import type { IDataObject, INodeProperties } from 'n8n-workflow';

import { scoped } from '../../../shared/scoped';
import { asJson, projectField, returnAllFields } from '../../helpers/fields';
import { limitResults, readText } from '../../helpers/parameters';
import type { EsiLeaseOperation } from '../../node.type';

export const description: INodeProperties[] = scoped('node', 'getAll', [
	...returnAllFields(),
	{
		displayName: 'Filters',
		name: 'filters',
		type: 'collection',
		placeholder: 'Add Filter',
		default: {},
		options: [
			projectField('lessee', 'Lessee Project', 'Only nodes leased to this project'),
			projectField('owner', 'Owner Project', 'Only nodes owned by this project'),
			{
				displayName: 'Resource Class',
				name: 'resourceClass',
				type: 'string',
				default: '',
				description: 'Only nodes of this resource class',
			},
		],
	},
]);

export const operation: EsiLeaseOperation = {
	// ESI Leap checks no policy here; Ironic decides with the caller's token.
	requiredRole: "Ironic's permission to list the nodes (ESI Leap passes the project's token on)",
	async execute(client, itemIndex) {
		const filters = this.getNodeParameter('filters', itemIndex, {}) as IDataObject;
		const nodes = await client.listNodes({
			resourceClass: readText(filters.resourceClass, 'resourceClass'),
			owner: readText(filters.owner, 'owner'),
			lessee: readText(filters.lessee, 'lessee'),
		});
		return limitResults(this, itemIndex, nodes).map(asJson);
	},
};
