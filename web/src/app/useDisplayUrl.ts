import { useEffect, useState } from 'react';
import { displayUrl, inputChoice, parsePrep, prepareImage, type InputChoice } from '../services/inputs';

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

/**
 * The picture under the heatmap: the input as the model got it before resizing — for an upload with invert/crop,
 * the prepared image (a crop moves the drawing, so the original would not line up with the relevance).
 */
export function usePreparedUrl(choice: InputChoice | undefined, prep: string | undefined): string | undefined {
  const plain = useDisplayUrl(choice);
  const [url, setUrl] = useState<string>();
  const p = parsePrep(prep);
  const active = choice?.kind === 'dropped' && !choice.image.name.toLowerCase().endsWith('.npy') && (p.invert || p.crop);
  const key = active && choice?.kind === 'dropped' ? `${choice.image.url}|${prep}` : '';
  useEffect(() => {
    if (!active || choice?.kind !== 'dropped') return setUrl(undefined);
    let live = true;
    let made: string | undefined;
    prepareImage(choice.image.blob, p).then((b) => {
      made = URL.createObjectURL(b);
      if (live) setUrl(made);
      else URL.revokeObjectURL(made);
    }, () => undefined);
    return () => {
      live = false;
      if (made) URL.revokeObjectURL(made);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);
  return active ? url : plain;
}
