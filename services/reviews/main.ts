// reviews: one image, three behaviours chosen by REVIEWS_VERSION (the canary of the sample):
//   v1  reviews only, never calls ratings
//   v2  calls ratings, black stars
//   v3  calls ratings, red stars
// GET /reviews/:bookId. When ratings fails or exceeds UPSTREAM_TIMEOUT_MS, v2/v3 still answer 200 with
// the reviews and ratings.status "unavailable" ("ratings unavailable").

import type { Review, ReviewsResponse, StarColor } from '../shared/api.js';
import { isRatingsResponse } from '../shared/api.js';
import { readChoice, readUrlList } from '../shared/config.js';
import type { Env } from '../shared/config.js';
import { errorMessage } from '../shared/log.js';
import { json, runService } from '../shared/server.js';
import { createUpstream } from '../shared/upstream.js';

const VERSIONS = ['v1', 'v2', 'v3'] as const;
type ReviewsVersion = (typeof VERSIONS)[number];

const STAR_COLOR: Readonly<Record<ReviewsVersion, StarColor | undefined>> = {
  v1: undefined,
  v2: 'black',
  v3: 'red',
};

const REVIEWS: Readonly<Record<string, readonly Review[]>> = {
  '1': [
    {
      reviewer: 'Reviewer1',
      text: 'An extremely entertaining play by Shakespeare. The slapstick humour is refreshing!',
    },
    {
      reviewer: 'Reviewer2',
      text: 'Absolutely fun and entertaining. The play lacks thematic depth when compared to other plays.',
    },
  ],
  '2': [{ reviewer: 'Reviewer3', text: 'Sharp, funny and kind; every sentence earns its place.' }],
  '3': [
    { reviewer: 'Reviewer1', text: 'A long voyage with a few too many chapters on whales.' },
    { reviewer: 'Reviewer4', text: 'Obsession, told at the scale of the ocean.' },
  ],
};

const readVersion = (env: Env): ReviewsVersion => readChoice(env, 'REVIEWS_VERSION', VERSIONS, 'v1');

await runService({
  name: 'reviews',
  defaultVersion: readVersion,
  build: (env, config, log) => {
    const version = readVersion(env);
    const color = STAR_COLOR[version];
    const ratings =
      color === undefined
        ? undefined
        : createUpstream('ratings', readUrlList(env, 'RATINGS_URL', 'http://ratings:8080'), {
            timeoutMs: config.upstreamTimeoutMs,
            userAgent: `${config.serviceName}/${config.serviceVersion}`,
          });
    return {
      upstreams: ratings === undefined ? [] : [ratings],
      routes: [
        {
          path: '/reviews/:bookId',
          handler: async ({ params, forward, requestId }) => {
            const bookId = params.bookId ?? '';
            const reviews = (Object.hasOwn(REVIEWS, bookId) ? REVIEWS[bookId] : undefined) ?? [];
            if (ratings === undefined || color === undefined) {
              const body: ReviewsResponse = { bookId, version, ratings: { status: 'disabled' }, reviews };
              return json(200, body);
            }
            try {
              const answer = await ratings.get(`/ratings/${encodeURIComponent(bookId)}`, forward);
              if (answer.status !== 200 || !isRatingsResponse(answer.body)) {
                throw new Error(`ratings answered ${answer.status}`);
              }
              const stars = answer.body.ratings;
              const rated = reviews.map((review) => {
                const count = Object.hasOwn(stars, review.reviewer) ? stars[review.reviewer] : undefined;
                return count === undefined ? review : { ...review, rating: { stars: count, color } };
              });
              const body: ReviewsResponse = {
                bookId,
                version,
                ratings: { status: 'ok', color },
                reviews: rated,
              };
              return json(200, body);
            } catch (error) {
              log.warn('ratings unavailable', { request_id: requestId, error: errorMessage(error) });
              const body: ReviewsResponse = {
                bookId,
                version,
                ratings: { status: 'unavailable', color, message: 'ratings unavailable' },
                reviews,
              };
              return json(200, body);
            }
          },
        },
      ],
    };
  },
});
