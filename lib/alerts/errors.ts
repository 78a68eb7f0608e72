/** A delivery that did not happen, as data the outbox can act on: retry later, or give up now. */
export class DeliveryError extends Error {
  constructor(
    message: string,
    /** True when trying again cannot help (a 4xx answer, a rejected recipient): the outbox gives up. */
    readonly permanent: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DeliveryError';
  }
}
