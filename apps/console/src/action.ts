// The state every task page shows while it works: busy while an action runs, then its
// message or its error in words (one place, so every page says failures the same way).
import { ref } from 'vue'
import { describe } from './errors'

export function useAction() {
  const busy = ref(false)
  const error = ref('')
  const message = ref('')
  /// Runs `work` with the page busy; what it throws becomes the page's error, worded by
  /// `explain` (the shared wording by default).
  async function act(work: () => Promise<void>, explain: (e: unknown) => string = describe) {
    message.value = ''
    error.value = ''
    busy.value = true
    try {
      await work()
    } catch (e) {
      error.value = explain(e)
    } finally {
      busy.value = false
    }
  }
  return { busy, error, message, act }
}
