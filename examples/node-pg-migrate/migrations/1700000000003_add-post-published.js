export const up = (pgm) => {
  pgm.addColumn('posts', { published: { type: 'boolean', notNull: true, default: false } });
};

export const down = (pgm) => {
  pgm.dropColumn('posts', 'published');
};
