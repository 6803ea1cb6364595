// storefront: the ingress-facing service. It combines catalog and reviews:
//   GET /                HTML page of every book with its reviews
//   GET /api/books       the same as JSON
//   GET /api/books/:id   one book with its reviews (404 for an unknown id)
//   GET /admin           {"admin": true}; the mesh guards it (RequestAuthentication + AuthorizationPolicy)
// It degrades instead of failing: when reviews fails, books still render (200) with a message; only a
// failing catalog makes the answer 502. REVIEWS_URL may list several base URLs, called in turn.

import type { Book, ReviewsResponse } from '../shared/api.js';
import { isBook, isBookList, isReviewsResponse } from '../shared/api.js';
import { readUrlList } from '../shared/config.js';
import { errorMessage } from '../shared/log.js';
import type { Logger } from '../shared/log.js';
import type { ForwardHeaders } from '../shared/propagation.js';
import { json, runService } from '../shared/server.js';
import type { Reply } from '../shared/server.js';
import { createUpstream } from '../shared/upstream.js';
import type { Upstream } from '../shared/upstream.js';

type ReviewsBlock =
  | ({ readonly available: true; readonly servedBy: string | null } & ReviewsResponse)
  | { readonly available: false; readonly message: string };

const REVIEWS_UNAVAILABLE = 'Reviews are currently unavailable.';

type Catalog<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reply: Reply };

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function renderReviews(block: ReviewsBlock): string {
  if (!block.available) return `<p class="notice">${escapeHtml(block.message)}</p>`;
  if (block.reviews.length === 0) return '<p class="muted">No reviews yet.</p>';
  const notice =
    block.ratings.status === 'unavailable'
      ? `<p class="notice">${escapeHtml(block.ratings.message ?? 'ratings unavailable')}</p>`
      : '';
  const items = block.reviews.map((review) => {
    const stars =
      review.rating === undefined
        ? ''
        : `<span class="stars" style="color: ${escapeHtml(review.rating.color)}" title="${review.rating.stars} of 5">` +
          `${'★'.repeat(review.rating.stars)}${'☆'.repeat(Math.max(0, 5 - review.rating.stars))}</span>`;
    return `<li><blockquote>${escapeHtml(review.text)}</blockquote><cite>${escapeHtml(review.reviewer)}</cite> ${stars}</li>`;
  });
  return `${notice}<ul class="reviews">${items.join('')}</ul><p class="muted">reviews ${escapeHtml(block.version)}</p>`;
}

function renderPage(servedBy: string, books: readonly { book: Book; reviews: ReviewsBlock }[]): string {
  const articles = books.map(
    ({ book, reviews }) =>
      `<article><h2>${escapeHtml(book.title)}</h2><p>${escapeHtml(book.author)}, ${book.year}, ${book.pages} pages</p>` +
      `<h3>Reviews</h3>${renderReviews(reviews)}</article>`,
  );
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Bookshop</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 48rem; margin: 2rem auto; padding: 0 1rem; }
article { border-top: 1px solid #ccc; padding: 0.5rem 0; }
blockquote { margin: 0; }
.notice { color: #8a4b00; }
.muted, footer { color: #666; font-size: 0.85rem; }
</style>
</head>
<body>
<h1>Bookshop</h1>
${articles.join('\n')}
<footer>served by ${escapeHtml(servedBy)}</footer>
</body>
</html>
`;
}

function errorPage(status: number, message: string): Reply {
  return {
    status,
    html: `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>Bookshop</title></head><body><h1>Bookshop</h1><p>${escapeHtml(message)}</p></body></html>\n`,
  };
}

function createStorefront(catalog: Upstream, reviews: Upstream, log: Logger) {
  const catalogFailed = (requestId: string, error: unknown): Catalog<never> => {
    log.warn('catalog unavailable', { request_id: requestId, error: errorMessage(error) });
    return { ok: false, reply: json(502, { error: 'catalog unavailable' }) };
  };

  const listBooks = async (forward: ForwardHeaders, requestId: string): Promise<Catalog<readonly Book[]>> => {
    try {
      const answer = await catalog.get('/books', forward);
      if (answer.status !== 200 || !isBookList(answer.body))
        throw new Error(`catalog answered ${answer.status}`);
      return { ok: true, value: answer.body.books };
    } catch (error) {
      return catalogFailed(requestId, error);
    }
  };

  const getBook = async (id: string, forward: ForwardHeaders, requestId: string): Promise<Catalog<Book>> => {
    try {
      const answer = await catalog.get(`/books/${encodeURIComponent(id)}`, forward);
      if (answer.status === 404) return { ok: false, reply: json(404, { error: 'book not found', id }) };
      if (answer.status !== 200 || !isBook(answer.body)) throw new Error(`catalog answered ${answer.status}`);
      return { ok: true, value: answer.body };
    } catch (error) {
      return catalogFailed(requestId, error);
    }
  };

  const getReviews = async (
    bookId: string,
    forward: ForwardHeaders,
    requestId: string,
  ): Promise<ReviewsBlock> => {
    try {
      const answer = await reviews.get(`/reviews/${encodeURIComponent(bookId)}`, forward);
      if (answer.status !== 200 || !isReviewsResponse(answer.body)) {
        throw new Error(`reviews answered ${answer.status}`);
      }
      return { available: true, servedBy: answer.servedBy ?? null, ...answer.body };
    } catch (error) {
      log.warn('reviews unavailable', { request_id: requestId, book_id: bookId, error: errorMessage(error) });
      return { available: false, message: REVIEWS_UNAVAILABLE };
    }
  };

  const booksWithReviews = async (forward: ForwardHeaders, requestId: string) => {
    const books = await listBooks(forward, requestId);
    if (!books.ok) return books;
    const entries = await Promise.all(
      books.value.map(async (book) => ({ book, reviews: await getReviews(book.id, forward, requestId) })),
    );
    return { ok: true as const, value: entries };
  };

  return { getBook, getReviews, booksWithReviews };
}

await runService({
  name: 'storefront',
  build: (env, config, log) => {
    const options = {
      timeoutMs: config.upstreamTimeoutMs,
      userAgent: `${config.serviceName}/${config.serviceVersion}`,
    };
    const catalog = createUpstream(
      'catalog',
      readUrlList(env, 'CATALOG_URL', 'http://catalog:8080'),
      options,
    );
    const reviews = createUpstream(
      'reviews',
      readUrlList(env, 'REVIEWS_URL', 'http://reviews:8080'),
      options,
    );
    const shop = createStorefront(catalog, reviews, log);
    const servedBy = `${config.serviceName}/${config.serviceVersion}`;
    return {
      upstreams: [catalog, reviews],
      forwardAuthorization: true,
      routes: [
        {
          path: '/',
          handler: async ({ forward, requestId }) => {
            const result = await shop.booksWithReviews(forward, requestId);
            if (!result.ok)
              return errorPage(502, 'The catalog is currently unavailable. Please try again shortly.');
            return { status: 200, html: renderPage(servedBy, result.value) };
          },
        },
        {
          path: '/api/books',
          handler: async ({ forward, requestId }) => {
            const result = await shop.booksWithReviews(forward, requestId);
            return result.ok ? json(200, { books: result.value }) : result.reply;
          },
        },
        {
          path: '/api/books/:id',
          handler: async ({ params, forward, requestId }) => {
            const id = params.id ?? '';
            const [book, reviewsBlock] = await Promise.all([
              shop.getBook(id, forward, requestId),
              shop.getReviews(id, forward, requestId),
            ]);
            return book.ok ? json(200, { book: book.value, reviews: reviewsBlock }) : book.reply;
          },
        },
        { path: '/admin', handler: () => json(200, { admin: true }) },
      ],
    };
  },
});
