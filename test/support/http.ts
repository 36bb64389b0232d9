export interface HttpJsonOptions {
  method?: string;
  /** sent as `Authorization: Bearer <token>` */
  token?: string;
  /** objects are sent as JSON; strings and Buffers as they are */
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export interface HttpJsonResponse<T = any> {
  status: number;
  /** parsed JSON, or the text when the response is not JSON */
  body: T;
  headers: Headers;
  text: string;
}

/** One HTTP request with fetch; never throws on non-2xx statuses. */
export async function httpJson<T = any>(url: string, options: HttpJsonOptions = {}): Promise<HttpJsonResponse<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | Uint8Array<ArrayBuffer> | undefined;
  if (options.body !== undefined) {
    if (typeof options.body === 'string') body = options.body;
    else if (options.body instanceof Uint8Array) body = new Uint8Array(options.body);
    else {
      body = JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    }
  }
  const response = await fetch(url, {
    method: options.method ?? (body === undefined ? 'GET' : 'POST'),
    headers,
    body,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const text = await response.text();
  let parsed: unknown = text;
  if ((response.headers.get('content-type') ?? '').includes('json')) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
  }
  return { status: response.status, body: parsed as T, headers: response.headers, text };
}
