import { describe, expect, it } from 'vitest'
import { ref } from 'vue'
import { usePeopleSelection } from '../usePeopleSelection'

describe('people selection', () => {
  it('picks up to the limit in the order picked, unpicks, and clears', () => {
    const max = ref(2)
    const selection = usePeopleSelection(max)
    selection.toggle('carol')
    selection.toggle('bob')
    expect(selection.full.value).toBe(true)
    selection.toggle('dave') // past the limit: ignored
    expect(selection.selected.value).toEqual(['carol', 'bob'])
    selection.toggle('carol')
    expect(selection.selected.value).toEqual(['bob'])
    expect(selection.isSelected('bob')).toBe(true)
    expect(selection.full.value).toBe(false)
    max.value = 1
    expect(selection.full.value).toBe(true)
    selection.clear()
    expect(selection.selected.value).toEqual([])
  })
})
