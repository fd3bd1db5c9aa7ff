// The latest report of every installation, kept beside the reports so that the figures /metrics reads
// cost one row per installation, not one per stored report.
import type { Knex } from 'knex';

export const name = '002_latest_reports';

export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('latest_reports', (table) => {
    table.string('installation_id', 128).primary();
    table.integer('report_row_id').notNullable();
    table.integer('active_users').notNullable();
    table.string('app_version', 64).notNullable();
    table.string('platform', 64).notNullable();
    table.bigInteger('received_at').notNullable();
    table.index(['received_at']);
  });
  const ranked = db('usage_reports')
    .select('id', 'installation_id', 'active_users', 'app_version', 'platform', 'received_at')
    .select(db.raw('row_number() over (partition by installation_id order by received_at desc, id desc) as recency'));
  await db('latest_reports').insert(
    db.from(ranked.as('ranked')).where('recency', 1).select('installation_id', { report_row_id: 'id' }, 'active_users', 'app_version', 'platform', 'received_at'),
  );
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable('latest_reports');
}
