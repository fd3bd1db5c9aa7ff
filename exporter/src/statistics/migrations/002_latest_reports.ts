// The latest report of every installation, kept beside the reports so that the figures /metrics reads
// cost one row per installation, not one per stored report. A trigger keeps it current: the insert of a
// report stays one statement, one synced commit.
import type { Knex } from 'knex';

const COLUMNS = ['report_row_id', 'active_users', 'app_version', 'platform', 'received_at'];
const UPSERT_LATEST = `INSERT INTO latest_reports (installation_id, ${COLUMNS.join(', ')})
    VALUES (NEW.installation_id, NEW.id, NEW.active_users, NEW.app_version, NEW.platform, NEW.received_at)
    ON CONFLICT (installation_id) DO UPDATE SET ${COLUMNS.map((column) => `${column} = excluded.${column}`).join(', ')}`;

function isPostgres(db: Knex): boolean {
  return ['pg', 'postgres', 'postgresql'].includes(String(db.client.config.client));
}

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
  if (isPostgres(db)) {
    await db.raw(`CREATE FUNCTION headroom_latest_report() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN ${UPSERT_LATEST}; RETURN NEW; END $$`);
    await db.raw('CREATE TRIGGER usage_reports_latest AFTER INSERT ON usage_reports FOR EACH ROW EXECUTE FUNCTION headroom_latest_report()');
  } else {
    await db.raw(`CREATE TRIGGER usage_reports_latest AFTER INSERT ON usage_reports BEGIN ${UPSERT_LATEST}; END`);
  }
}

export async function down(db: Knex): Promise<void> {
  await db.raw('DROP TRIGGER usage_reports_latest' + (isPostgres(db) ? ' ON usage_reports' : ''));
  if (isPostgres(db)) await db.raw('DROP FUNCTION headroom_latest_report()');
  await db.schema.dropTable('latest_reports');
}
