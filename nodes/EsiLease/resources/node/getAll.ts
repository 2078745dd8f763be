import type { INodeProperties } from 'n8n-workflow';

import { projectField } from '../../helpers/fields';
import { getManyDescription, getManyOperation } from '../../helpers/getMany';
import { readText } from '../../helpers/parameters';

export const description: INodeProperties[] = getManyDescription('node', [
	projectField('lessee', 'Lessee Project', 'Only nodes leased to this project'),
	projectField('owner', 'Owner Project', 'Only nodes owned by this project'),
	{
		displayName: 'Resource Class',
		name: 'resourceClass',
		type: 'string',
		default: '',
		description: 'Only nodes of this resource class',
	},
]);

export const operation = getManyOperation(
	// ESI Leap checks no policy here; Ironic decides with the caller's token.
	"Ironic's permission to list the nodes (ESI Leap passes the project's token on)",
	async (client, filters) =>
		await client.listNodes({
			resourceClass: readText(filters.resourceClass, 'resourceClass'),
			owner: readText(filters.owner, 'owner'),
			lessee: readText(filters.lessee, 'lessee'),
		}),
);
