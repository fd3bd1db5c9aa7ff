// The trigger of 002 kept whichever report of an installation was inserted last. With two headroom
// instances writing to one PostgreSQL, the last insert to commit may be the older report (by received_at,
// then id, as 002 ranked them): the row changes only for a newer one now. Repairs what 002 may have kept.
import type { Knex } from 'knex';

const COLUMNS = ['report_row_id', 'active_users', 'app_version', 'platform', 'received_at'];

function upsertLatest(onlyNewer: boolean): string {
  const newer = 'WHERE excluded.received_at > latest_reports.received_at OR (excluded.received_at = latest_reports.received_at AND excluded.report_row_id > latest_reports.report_row_id)';
  return `INSERT INTO latest_reports (installation_id, ${COLUMNS.join(', ')})
    VALUES (NEW.installation_id, NEW.id, NEW.active_users, NEW.app_version, NEW.platform, NEW.received_at)
    ON CONFLICT (installation_id) DO UPDATE SET ${COLUMNS.map((column) => `${column} = excluded.${column}`).join(', ')}${onlyNewer ? ` ${newer}` : ''}`;
}

function isPostgres(db: Knex): boolean {
  return ['pg', 'postgres', 'postgresql'].includes(String(db.client.config.client));
}

async function replaceTrigger(db: Knex, onlyNewer: boolean): Promise<void> {
  if (isPostgres(db)) {
    await db.raw(`CREATE OR REPLACE FUNCTION headroom_latest_report() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN ${upsertLatest(onlyNewer)}; RETURN NEW; END $$`);
  } else {
    await db.raw('DROP TRIGGER usage_reports_latest');
    await db.raw(`CREATE TRIGGER usage_reports_latest AFTER INSERT ON usage_reports BEGIN ${upsertLatest(onlyNewer)}; END`);
  }
}

export const name = '003_latest_reports_newest';

export async function up(db: Knex): Promise<void> {
  await replaceTrigger(db, true);
  // The newest report of every installation, as 002 ranked them at its start.
  const ranked = db('usage_reports')
    .select('id', 'installation_id', 'active_users', 'app_version', 'platform', 'received_at')
    .select(db.raw('row_number() over (partition by installation_id order by received_at desc, id desc) as recency'));
  await db('latest_reports').delete();
  await db('latest_reports').insert(
    db.from(ranked.as('ranked')).where('recency', 1).select('installation_id', { report_row_id: 'id' }, 'active_users', 'app_version', 'platform', 'received_at'),
  );
}

export async function down(db: Knex): Promise<void> {
  await replaceTrigger(db, false);
}
