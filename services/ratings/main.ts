// ratings: stars per reviewer for a book. GET /ratings/:bookId (a book nobody rated has no ratings).
// Called by reviews v2 and v3. With LOG_HEADERS=true its request log lines show the propagation
// headers it received, which is how the tests follow a trace across storefront → reviews → ratings.

import type { RatingsResponse } from '../shared/api.js';
import { json, runService } from '../shared/server.js';

const RATINGS: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  '1': { Reviewer1: 5, Reviewer2: 4 },
  '2': { Reviewer3: 5 },
  '3': { Reviewer1: 3, Reviewer4: 4 },
};

await runService({
  name: 'ratings',
  build: () => ({
    routes: [
      {
        path: '/ratings/:bookId',
        handler: ({ params }) => {
          const bookId = params.bookId ?? '';
          const ratings = Object.hasOwn(RATINGS, bookId) ? RATINGS[bookId] : undefined;
          const body: RatingsResponse = { bookId, ratings: ratings ?? {} };
          return json(200, body);
        },
      },
    ],
  }),
});
