import { createApp } from 'vue'
import { createPinia } from 'pinia'
import App from './App.vue'
import router from './router'
import { locale } from './i18n'
import './assets/main.css'

document.documentElement.lang = locale.value

const app = createApp(App)
app.use(createPinia())
app.use(router)
app.mount('#app')
