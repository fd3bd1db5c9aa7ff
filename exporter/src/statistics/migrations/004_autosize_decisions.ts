// Automatic sizing's audit trail: every decision, applied, refused or failed, with its reason.
import type { Knex } from 'knex';

export const name = '004_autosize_decisions';

export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('autosize_decisions', (table) => {
    table.increments('id').primary();
    table.bigInteger('decided_at').notNullable();
    /** --autosize.host of the exporter that decided ('' when not set): hosts sharing a database keep apart. */
    table.string('host', 255).notNullable();
    table.string('container', 255).notNullable();
    table.string('compose_project', 255).notNullable();
    table.string('compose_service', 255).notNullable();
    table.string('direction', 8).notNullable();
    table.string('result', 16).notNullable();
    table.string('reason', 1024).notNullable();
    /** What asked: the alert (`HeadroomMemoryHigh critical`) or the periodic check. */
    table.string('trigger', 255).notNullable();
    table.bigInteger('from_memory_bytes').notNullable();
    table.double('from_cpus');
    table.string('to_size', 16);
    table.bigInteger('to_memory_bytes');
    table.double('to_cpus');
    table.index(['host', 'container', 'decided_at']);
    table.index(['decided_at']);
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable('autosize_decisions');
}
