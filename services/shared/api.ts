// The JSON the services exchange, with the checks a caller runs before trusting an upstream's answer.

export interface Book {
  readonly id: string;
  readonly title: string;
  readonly author: string;
  readonly year: number;
  readonly pages: number;
}

export type StarColor = 'black' | 'red';

export interface Review {
  readonly reviewer: string;
  readonly text: string;
  /** Present in reviews v2 and v3 when ratings answered. */
  readonly rating?: { readonly stars: number; readonly color: StarColor };
}

export interface ReviewsResponse {
  readonly bookId: string;
  /** The reviews behaviour that answered: v1 (no ratings), v2 (black stars), v3 (red stars). */
  readonly version: string;
  readonly ratings: {
    readonly status: 'disabled' | 'ok' | 'unavailable';
    readonly color?: StarColor;
    readonly message?: string;
  };
  readonly reviews: readonly Review[];
}

export interface RatingsResponse {
  readonly bookId: string;
  /** Stars (1..5) by reviewer. */
  readonly ratings: Readonly<Record<string, number>>;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function isBook(value: unknown): value is Book {
  return (
    isRecord(value) &&
    typeof value.id === 'string' &&
    typeof value.title === 'string' &&
    typeof value.author === 'string' &&
    typeof value.year === 'number' &&
    typeof value.pages === 'number'
  );
}

export function isBookList(value: unknown): value is { books: Book[] } {
  return isRecord(value) && Array.isArray(value.books) && value.books.every(isBook);
}

function isRating(value: unknown): boolean {
  return (
    isRecord(value) &&
    typeof value.stars === 'number' &&
    Number.isInteger(value.stars) &&
    value.stars >= 0 &&
    value.stars <= 5 &&
    (value.color === 'black' || value.color === 'red')
  );
}

function isReview(value: unknown): value is Review {
  return (
    isRecord(value) &&
    typeof value.reviewer === 'string' &&
    typeof value.text === 'string' &&
    (value.rating === undefined || isRating(value.rating))
  );
}

export function isReviewsResponse(value: unknown): value is ReviewsResponse {
  return (
    isRecord(value) &&
    typeof value.bookId === 'string' &&
    typeof value.version === 'string' &&
    isRecord(value.ratings) &&
    typeof value.ratings.status === 'string' &&
    Array.isArray(value.reviews) &&
    value.reviews.every(isReview)
  );
}

export function isRatingsResponse(value: unknown): value is RatingsResponse {
  return (
    isRecord(value) &&
    typeof value.bookId === 'string' &&
    isRecord(value.ratings) &&
    Object.values(value.ratings).every(
      (stars) => typeof stars === 'number' && Number.isInteger(stars) && stars >= 0 && stars <= 5,
    )
  );
}
