import type { IDataObject, INodeProperties } from 'n8n-workflow';

import { scoped } from '../../../shared/scoped';
import {
	asJson,
	projectField,
	RESOURCE_TYPE_OPTIONS,
	returnAllFields,
	timeField,
} from '../../helpers/fields';
import { invalidParameter } from '../../../shared/locators';
import { limitResults, readText, readTime } from '../../helpers/parameters';
import type { EsiLeaseOperation } from '../../node.type';

const EVENT_TYPES = [
	'fulfill.start',
	'fulfill.end',
	'fulfill.error',
	'delete.start',
	'delete.end',
	'delete.error',
];

export const description: INodeProperties[] = scoped('event', 'getAll', [
	...returnAllFields(),
	{
		displayName: 'Filters',
		name: 'filters',
		type: 'collection',
		placeholder: 'Add Filter',
		default: {},
		options: [
			{
				displayName: 'Event Type',
				name: 'eventType',
				type: 'options',
				options: EVENT_TYPES.map((short) => ({
					name: `Lease ${short.replace('.', ' ').replace(/\b\w/g, (c) => c.toUpperCase())}`,
					value: `esi_leap.lease.${short}`,
				})),
				default: 'esi_leap.lease.fulfill.end',
				description: 'Only events of this type',
			},
			{
				displayName: 'After Event ID',
				name: 'lastEventId',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: 0,
				description: 'Only events with a larger ID (0: no limit)',
			},
			timeField(
				'lastEventTime',
				'After Time',
				'Only events after this time (ESI Leap compares with its local time, normally UTC)',
			),
			projectField(
				'lesseeOrOwnerId',
				'Project',
				'Only events of leases this project holds or owns (admins only; others always see just their project)',
			),
			{
				displayName: 'Resource Type',
				name: 'resourceType',
				type: 'options',
				options: RESOURCE_TYPE_OPTIONS,
				default: 'ironic_node',
				description: 'Only events of this kind of node',
			},
			{
				displayName: 'Resource UUID',
				name: 'resourceUuid',
				type: 'string',
				default: '',
				description:
					'Only events of this node (UUID, or Ironic name). Without Resource Type, ESI Leap assumes its default type.',
			},
		],
	},
]);

export const operation: EsiLeaseOperation = {
	requiredRole: 'a token of a project ESI Leap knows',
	async execute(client, itemIndex) {
		const filters = this.getNodeParameter('filters', itemIndex, {}) as IDataObject;
		const lastEventId = filters.lastEventId;
		if (
			lastEventId !== undefined &&
			(typeof lastEventId !== 'number' || !Number.isInteger(lastEventId) || lastEventId < 0)
		) {
			throw invalidParameter(
				'lastEventId',
				`must be a whole number ≥ 0, got ${String(lastEventId)}`,
			);
		}
		const events = await client.listEvents({
			lastEventId: lastEventId as number | undefined,
			lastEventTime: readTime(filters.lastEventTime, this, 'lastEventTime'),
			lesseeOrOwnerId: readText(filters.lesseeOrOwnerId, 'lesseeOrOwnerId'),
			eventType: readText(filters.eventType, 'eventType'),
			resourceType: readText(filters.resourceType, 'resourceType'),
			resourceUuid: readText(filters.resourceUuid, 'resourceUuid'),
		});
		// Sorted by id, so a limit keeps the oldest events after the cursor.
		return limitResults(this, itemIndex, events).map(asJson);
	},
};
