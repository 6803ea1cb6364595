// catalog: the books. GET /books, GET /books/:id (404 for an unknown id).

import type { Book } from '../shared/api.js';
import { json, runService } from '../shared/server.js';

const BOOKS: readonly Book[] = [
  { id: '1', title: 'The Comedy of Errors', author: 'William Shakespeare', year: 1594, pages: 200 },
  { id: '2', title: 'Pride and Prejudice', author: 'Jane Austen', year: 1813, pages: 432 },
  { id: '3', title: 'Moby-Dick', author: 'Herman Melville', year: 1851, pages: 635 },
  { id: '4', title: 'Frankenstein', author: 'Mary Shelley', year: 1818, pages: 280 },
];

await runService({
  name: 'catalog',
  build: () => ({
    routes: [
      { path: '/books', handler: () => json(200, { books: BOOKS }) },
      {
        path: '/books/:id',
        handler: ({ params }) => {
          const book = BOOKS.find((candidate) => candidate.id === params.id);
          return book === undefined ? json(404, { error: 'book not found', id: params.id }) : json(200, book);
        },
      },
    ],
  }),
});
