import { useEffect, useState } from 'react';
import { displayUrl, inputChoice, type InputChoice } from '../services/inputs';

/** The image URL for an input choice (resolved asynchronously for stored inputs). */
export function useDisplayUrl(choice: InputChoice | undefined): string | undefined {
  const [url, setUrl] = useState<string>();
  const key = choice ? (choice.kind === 'sample' ? `${choice.dataset}/${choice.index}` : choice.kind === 'stored' ? choice.sha : choice.image.url) : '';
  useEffect(() => {
    let live = true;
    setUrl(undefined);
    if (choice) displayUrl(choice).then((u) => live && setUrl(u), () => undefined);
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);
  return url;
}

/** The display URL of a stored input given by its sha256. */
export function useStoredInputUrl(sha: string): string | undefined {
  return useDisplayUrl(sha ? inputChoice(`input/${sha}`, undefined) : undefined);
}
