/** Authors of posts; migrations as code, moved one step at a time by node-pg-migrate. */
export const up = (pgm) => {
  pgm.createTable('authors', {
    id: 'id',
    name: { type: 'text', notNull: true },
    created_at: { type: 'timestamptz', notNull: true, default: pgm.func('now()') },
  });
};

export const down = (pgm) => {
  pgm.dropTable('authors');
};
