"""The three channels: SMTP e-mail, signed webhooks, and the SMS gateway interface."""

from .base import Message, PermanentFailure, Sender, TransientFailure
from .email import SmtpSender
from .sms import FileSmsGateway, SmsGateway, SmsSender
from .webhook import WebhookSender, sign, verify_signature

__all__ = [
    "FileSmsGateway",
    "Message",
    "PermanentFailure",
    "Sender",
    "SmsGateway",
    "SmsSender",
    "SmtpSender",
    "TransientFailure",
    "WebhookSender",
    "sign",
    "verify_signature",
]
